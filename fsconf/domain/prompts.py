"""The prompt catalogue: every key the controller plays, the file it expects, its words.

Files are referenced relative to FreeSWITCH's `sound_prefix`, which the controller sets
per call to `<ivr.sounds_dir>/<language>`. On disk FreeSWITCH looks for
`<sounds_dir>/<language>/fsconf/<rate>/<file>.wav` (rate 8000, 16000, ...), the layout of
FreeSWITCH's own sound packs; `make sounds` generates stand-ins there and the README says
how to replace them with studio recordings. Spoken numbers use FreeSWITCH's `say`
(mod_say_nl / mod_say_en), which plays `digits/<n>.wav` from the same prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("nl", "en")
CATEGORY = "fsconf"


@dataclass(frozen=True)
class Prompt:
    key: str
    nl: str
    en: str

    @property
    def file(self) -> str:
        """Path relative to the sound prefix, as passed to playback."""
        return f"{CATEGORY}/{self.key.replace('_', '-')}.wav"

    def text(self, language: str) -> str:
        return self.nl if language == "nl" else self.en


_CATALOGUE = (
    Prompt("welcome", "Welkom bij de telefonische vergaderdienst.",
           "Welcome to the conference service."),
    Prompt("enter_conference_number", "Toets het vergadernummer, gevolgd door een hekje.",
           "Enter the conference number, then press hash."),
    Prompt("unknown_conference", "Dit vergadernummer is niet bekend.",
           "That conference number is not known."),
    Prompt("enter_pin", "Toets de pincode, gevolgd door een hekje.",
           "Enter the PIN, then press hash."),
    Prompt("wrong_pin", "Deze pincode is niet juist.", "That PIN is not correct."),
    Prompt("goodbye", "Tot ziens.", "Goodbye."),
    Prompt("pin_entry_blocked", "Te veel onjuiste pogingen. Probeer het later opnieuw.",
           "Too many wrong attempts. Please try again later."),
    Prompt("service_suspended", "Deze dienst is op dit moment niet beschikbaar.",
           "This service is currently unavailable."),
    Prompt("conference_locked", "Deze vergadering is afgesloten voor nieuwe deelnemers.",
           "This meeting is locked to new participants."),
    Prompt("conference_full", "Deze vergadering is vol.", "This meeting is full."),
    Prompt("record_name", "Zeg na de toon uw naam, en druk dan op hekje.",
           "After the tone, say your name, then press hash."),
    Prompt("tone", "(piep)", "(beep)"),
    Prompt("entering_conference", "U neemt nu deel aan de vergadering.",
           "You are entering the conference."),
    Prompt("participants_present_before", "Er zijn", "There are"),
    Prompt("participants_present_after", "deelnemers aanwezig.", "participants present."),
    Prompt("one_participant_present", "Er is één deelnemer aanwezig.",
           "There is one participant present."),
    Prompt("you_are_first", "U bent de eerste deelnemer.", "You are the first participant."),
    Prompt("has_joined", "neemt deel aan de vergadering.", "has joined the meeting."),
    Prompt("help_participant",
           "Hekje: deze hulp. Sterretje 1: microfoon aan of uit. Sterretje 2: aankondigingen "
           "aan of uit. Sterretje 3: wie is er aanwezig. Sterretje 7 en 9: volume zachter en "
           "harder.",
           "Hash: this help. Star 1: mute or unmute. Star 2: announcements on or off. Star 3: "
           "who is present. Star 7 and 9: volume down and up."),
    Prompt("help_moderator",
           "Voor de voorzitter: sterretje 8, nummer, hekje: iemand uitnodigen. Sterretje 30: "
           "vergadering beëindigen. Sterretje 31: laatste deelnemer verwijderen. Sterretje 21 "
           "en 20: vergadering afsluiten en openen. Sterretje 11 en 10: alle deelnemers "
           "dempen en weer aan.",
           "For the moderator: star 8, number, hash: invite someone. Star 30: end the meeting. "
           "Star 31: remove the last participant. Star 21 and 20: lock and unlock. Star 11 and "
           "10: mute and unmute all participants."),
    Prompt("muted", "Uw microfoon staat uit.", "You are muted."),
    Prompt("unmuted", "Uw microfoon staat aan.", "You are unmuted."),
    Prompt("announcements_off", "Aankondigingen staan uit.", "Announcements are off."),
    Prompt("announcements_on", "Aankondigingen staan aan.", "Announcements are on."),
    Prompt("roll_call", "Aanwezig zijn:", "Present are:"),
    Prompt("moderator_marker", "voorzitter.", "moderator."),
    Prompt("unnamed_caller", "een deelnemer zonder naam.", "a participant without a name."),
    Prompt("volume_down", "Volume zachter.", "Volume down."),
    Prompt("volume_up", "Volume harder.", "Volume up."),
    Prompt("volume_min", "Het volume staat op het minimum.", "The volume is at its minimum."),
    Prompt("volume_max", "Het volume staat op het maximum.", "The volume is at its maximum."),
    Prompt("invalid_option", "Deze keuze is ongeldig.", "That option is not valid."),
    Prompt("moderator_only", "Deze functie is alleen voor de voorzitter.",
           "That option is for the moderator only."),
    Prompt("meeting_ended", "De vergadering is beëindigd.", "The meeting has ended."),
    Prompt("participant_removed", "De laatste deelnemer is verwijderd.",
           "The last participant has been removed."),
    Prompt("nobody_to_remove", "Er is geen deelnemer om te verwijderen.",
           "There is no participant to remove."),
    Prompt("you_were_removed", "U bent uit de vergadering verwijderd.",
           "You have been removed from the meeting."),
    Prompt("conference_now_locked", "De vergadering is nu afgesloten.",
           "The meeting is now locked."),
    Prompt("conference_now_unlocked", "De vergadering is weer open.",
           "The meeting is now unlocked."),
    Prompt("all_muted", "Alle deelnemers zijn gedempt.", "All participants are muted."),
    Prompt("all_unmuted", "Alle deelnemers kunnen weer spreken.",
           "All participants are unmuted."),
    Prompt("invite_calling", "Het nummer wordt gebeld.", "Calling the number."),
    Prompt("invite_joined", "De genodigde neemt deel aan de vergadering.",
           "The invited person has joined."),
    Prompt("invite_not_answered", "Er wordt niet opgenomen.", "The call was not answered."),
    Prompt("invite_refused", "Dit nummer mag niet worden gebeld.",
           "That number may not be called."),
    Prompt("invite_limit", "Er kunnen nu niet meer mensen worden uitgenodigd.",
           "No more invitations are possible right now."),
    Prompt("invite_declined", "De uitnodiging is afgewezen.", "The invitation was declined."),
    Prompt("invited_by", "U wordt uitgenodigd voor een telefonische vergadering door",
           "You are invited to a conference call by"),
    Prompt("invite_press_one", "Druk op 1 om deel te nemen.", "Press 1 to join."),
    Prompt("busy_try_later", "Alle lijnen zijn bezet. Probeer het later opnieuw.",
           "All lines are busy. Please try again later."),
    Prompt("technical_problem",
           "Er is een technisch probleem. Probeer het later opnieuw.",
           "There is a technical problem. Please try again later."),
    Prompt("unknown_access_number", "Dit nummer is niet in gebruik.",
           "This number is not in service."),
    # Issue 22: help for the new keys, per role (played after the existing help).
    Prompt("help_participant_extra",
           "Sterretje 5: hand opsteken of laten zakken. Sterretje 6: hoeveel mensen er "
           "aanwezig zijn.",
           "Star 5: raise or lower your hand. Star 6: how many are present."),
    Prompt("help_count", "Sterretje 6: hoeveel mensen er aanwezig zijn.",
           "Star 6: how many are present."),
    Prompt("help_moderator_extra",
           "Sterretje 4: opname starten of stoppen. Sterretje 5: het woord geven aan wie het "
           "langst de hand opsteekt.",
           "Star 4: start or stop recording. Star 5: give the floor to the longest raised "
           "hand."),
    # *6
    Prompt("no_participants_present", "Er zijn geen deelnemers aanwezig.",
           "There are no participants present."),
    Prompt("moderator_present", "De voorzitter is aanwezig.", "The moderator is present."),
    Prompt("moderator_not_present", "De voorzitter is er nog niet.",
           "The moderator is not here yet."),
    # *5
    Prompt("hand_raised", "Uw hand is opgestoken.", "Your hand is raised."),
    Prompt("hand_lowered", "Uw hand is weer omlaag.", "Your hand is lowered."),
    Prompt("raised_hand", "steekt de hand op.", "raises a hand."),
    Prompt("someone_raised_hand", "Een deelnemer", "A participant"),
    Prompt("you_have_the_floor", "U heeft het woord.", "You have the floor."),
    Prompt("floor_given", "Het woord is gegeven.", "The floor has been given."),
    Prompt("no_raised_hands", "Niemand steekt de hand op.", "Nobody has raised a hand."),
    # *4 and late joiners
    Prompt("meeting_recorded", "Deze vergadering wordt opgenomen.",
           "This meeting is being recorded."),
    Prompt("recording_stopped", "De opname is gestopt.", "Recording stopped."),
    Prompt("recording_not_allowed", "Opnemen is voor deze vergadering niet toegestaan.",
           "Recording is not allowed for this meeting."),
    Prompt("recording_failed", "De opname kon niet worden gestart.",
           "The recording could not be started."),
    # wait for the chair
    Prompt("waiting_for_moderator",
           "De vergadering wacht op de voorzitter. U hoort muziek tot de voorzitter er is.",
           "The meeting is waiting for its moderator. You will hear music until the "
           "moderator arrives."),
    Prompt("moderator_arrived", "De voorzitter is er. De vergadering begint.",
           "The moderator has arrived. The meeting begins."),
    Prompt("still_waiting", "De vergadering is nog niet begonnen.",
           "The meeting has not started yet."),
    # Cluster: the node hosting the meeting went away; the caller is being moved.
    Prompt("one_moment", "Een ogenblik geduld alstublieft.", "One moment, please."),
)

CATALOGUE: dict[str, Prompt] = {p.key: p for p in _CATALOGUE}


def prompt(key: str) -> Prompt:
    return CATALOGUE[key]


def spoken_number_files(n: int) -> list[str]:
    """The files `say <nl|en> NUMBER pronounced n` plays (0..999), relative to the sound
    prefix: mod_say_en.c and mod_say_nl.c share play_group() (hundreds "digits/<h>.wav
    digits/hundred.wav", then "digits/<t>0.wav" for t >= 2 or the teens "digits/1<u>.wav",
    then "digits/<u>.wav"; zero "digits/0.wav"). Used where the `say` application cannot
    run: inside the conference a member hears files through `conference play`."""
    if not 0 <= n <= 999:
        raise ValueError("only 0..999 can be spoken")
    if n == 0:
        return ["digits/0.wav"]
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    files = []
    if hundreds:
        files += [f"digits/{hundreds}.wav", "digits/hundred.wav"]
    if tens > 1:
        files.append(f"digits/{tens}0.wav")
    elif tens == 1:
        files.append(f"digits/1{units}.wav")
        units = 0
    if units:
        files.append(f"digits/{units}.wav")
    return files

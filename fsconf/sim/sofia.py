"""A node's mod_sofia: its profiles on the SIP fabric, incoming INVITEs (the far side),
and `bridge` / `originate` to sofia/<profile>/<user>@<host:port> (the near side)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from fsconf.sim.channel import CallerProfile, Channel, Dtmf
from fsconf.sim.conference import switch_true
from fsconf.sim.events import Headers
from fsconf.sim.sip import (
    BUILTIN_ACLS,
    FABRIC,
    PORT_CLOSED_S,
    SIP_PHRASES,
    TIMER_B_S,
    AclList,
    SipFabric,
    SipProfile,
    acl_allows,
    continues_on_fail,
    dial_status,
    originate_wait_s,
    parse_sofia_url,
    sip_profiles,
)
from fsconf.sim.sipleg import Dialog, SipChannel

if TYPE_CHECKING:
    from fsconf.sim.ports import ChannelHost, Dialplan

log = logging.getLogger(__name__)


class SipNode:
    """A node's mod_sofia: its profiles on the fabric, `bridge`, incoming INVITEs."""

    def __init__(
        self,
        host: ChannelHost,
        dialplan: Dialplan,
        register: Callable[[Channel], None],
        profiles: dict[str, dict[str, str]],
        fabric: SipFabric | None = None,
        acl_lists: dict[str, AclList] | None = None,
        originate_timeout_s: float = 60.0,
    ) -> None:
        self.host = host
        self.originate_timeout_s = originate_timeout_s
        self.acl_lists = {**BUILTIN_ACLS, **(acl_lists or {})}
        self.dialplan = dialplan
        self.register = register
        self.profiles = sip_profiles(profiles)
        self.fabric = fabric if fabric is not None else FABRIC
        self.alive = False
        self.dialogs: set[Dialog] = set()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.alive = True
        for profile in self.profiles.values():
            if not self.fabric.bind(self, profile):
                # As sofia: the profile fails to start, the switch runs on without it.
                log.warning(
                    "SIP profile %s: %s is in use, profile not started",
                    profile.name,
                    profile.address,
                )

    def stop(self) -> None:
        self.fabric.unbind(self)
        self.alive = False

    def kill(self) -> None:
        """The process dies at once: its peers hear nothing more from it."""
        self.alive = False
        self.fabric.unbind(self)
        for dialog in list(self.dialogs):
            other = dialog.far_node if dialog.near_node is self else dialog.near_node
            if other is not None and other.alive:
                dialog.peer_died(self)
        self.dialogs.clear()

    # --- the far side: an INVITE arrives ----------------------------------------------

    def invite(self, dialog: Dialog, profile: SipProfile, headers: dict[str, str]) -> None:
        near = dialog.near
        cid_name = near.profile.caller_id_name
        cid_number = near.profile.caller_id_number
        user = near.profile.destination_number
        from_ip = dialog.near_node.source_ip(near)
        if profile.inbound_acl and not acl_allows(self.acl_lists.get(profile.inbound_acl), from_ip):
            # sofia_handle_sip_i_invite: "IP ... Rejected by acl" -> 403, no channel is
            # made; the near side maps 403 to CALL_REJECTED (sofia_glue_sip_cause_to_freeswitch).
            log.info(
                "SIP profile %s: IP %s rejected by acl %s",
                profile.name,
                from_ip,
                profile.inbound_acl,
            )
            dialog._to(dialog.near_node, dialog._near_refused, "CALL_REJECTED", 403)
            return
        ch = SipChannel(
            self.host,
            f"sofia/{profile.name}/{cid_number}@{from_ip}",
            "inbound",
            CallerProfile(
                caller_id_name=cid_name,
                caller_id_number=cid_number,
                destination_number=user,
                context=profile.context,
                dialplan=profile.dialplan,
                source="mod_sofia",
            ),
            network_addr=from_ip,
            username=cid_number,
        )
        now_us = str(ch.created_us)
        from_uri = f"{cid_number}@{from_ip}"
        req_uri = f"{user}@{profile.address}"
        sip_vars = [
            ("sip_from_user", cid_number),
            ("sip_from_uri", from_uri),
            ("sip_from_host", from_ip),
            ("video_media_flow", "disabled"),
            ("audio_media_flow", "disabled"),
            ("text_media_flow", "disabled"),
            ("channel_name", ch.name),
            ("sip_call_id", dialog.call_id),
            ("sip_local_network_addr", profile.ip),
            ("sip_network_ip", from_ip),
            ("sip_network_port", "5080"),
            ("sip_invite_stamp", now_us),
            ("sip_received_ip", from_ip),
            ("sip_received_port", "5080"),
            ("sip_via_protocol", "udp"),
            ("sip_from_user_stripped", cid_number),
            ("sip_from_tag", dialog.call_id[:13]),
            ("sofia_profile_name", profile.name),
            ("sofia_profile_url", f"sip:mod_sofia@{profile.address}"),
            ("recovery_profile_name", profile.name),
            (
                "sip_Remote-Party-ID",
                f'"{cid_name}" <sip:{from_uri}>;party=calling;screen=yes;privacy=off',
            ),
            ("sip_cid_type", "rpid"),
            ("sip_from_display", cid_name),
            ("sip_full_from", f'"{cid_name}" <sip:{from_uri}>;tag={dialog.call_id[:13]}'),
            ("sip_full_to", f"<sip:{req_uri}>"),
            ("sip_req_user", user),
            ("sip_req_uri", req_uri),
            ("sip_req_host", profile.ip),
            ("sip_req_port", str(profile.port)),
            ("sip_to_user", user),
            ("sip_to_uri", req_uri),
            ("sip_to_host", profile.ip),
            ("sip_to_port", str(profile.port)),
            ("sip_user_agent", "FreeSWITCH-mod_sofia/1.10.12-release~64bit"),
            ("max_forwards", "70"),
        ]
        # The X- headers of the INVITE, as sip_h_<name> with the name as sent.
        sip_vars += [(f"sip_h_{name}", value) for name, value in headers.items()]
        sip_vars += [
            ("ep_codec_string", "CORE_PCM_MODULE.PCMU@8000h@20i@64000b"),
            ("endpoint_disposition", "DELAYED NEGOTIATION"),
        ]
        for key, value in sip_vars:
            ch.set_var(key, value)
        ch.variables["call_uuid"] = ch.uuid
        ch.call_state = "RINGING"
        ch.state = "CS_EXECUTE"
        ch.dialog = dialog
        ch.accepts = profile.inbound_codecs
        dialog.far, dialog.far_node = ch, self
        self.dialogs.add(dialog)
        self.register(ch)
        fields = {
            "destination_number": user,
            "context": profile.context,
            "caller_id_number": cid_number,
            "caller_id_name": cid_name,
            "uuid": ch.uuid,
        }
        actions = self.dialplan.route(profile.context, fields)
        if not actions:
            ch.hangup("NO_ROUTE_DESTINATION")
            return
        self.dialplan.run_actions(ch, actions)

    def source_ip(self, leg: SipChannel) -> str:
        """The address this node's INVITE comes from: its profile's sip-ip."""
        name = leg.name.split("/")[1] if leg.name.count("/") >= 2 else ""
        profile = self.profiles.get(name)
        return profile.ip if profile is not None else "127.0.0.1"

    # --- the near side: the bridge application ----------------------------------------

    def app_bridge(self, ch: Channel, arg: str) -> str | None:
        from fsconf.sim.originate import split_originate

        variables, endpoint, _ = split_originate(arg)
        target = parse_sofia_url(endpoint)
        if target is None or target[0] not in self.profiles:
            # Only sofia URLs to a profile of this node are modelled; a real switch has
            # more endpoints (loopback/, user/, gateways), which the simulator lacks here.
            log.warning("[%s] bridge: endpoint %r not supported", ch.uuid, endpoint)
            return self._failed(ch, None, "CHAN_NOT_IMPLEMENTED", None)
        _, user, address = target
        name = variables.get("origination_caller_id_name") or ch.profile.caller_id_name
        number = variables.get("origination_caller_id_number") or ch.profile.caller_id_number
        profile = CallerProfile(
            caller_id_name=name,
            caller_id_number=number,
            callee_id_name=user,
            callee_id_number=user,
            destination_number=user,
            context=ch.profile.context,
            source=ch.profile.source,
        )
        leg = self._new_leg(endpoint, address, profile, variables)
        leg.offered_codec = ch.get_var("read_codec") or "L16"
        leg.state = "CS_EXCHANGE_MEDIA"
        dialog = Dialog(self, leg, ch)
        leg.dialog = dialog
        self.dialogs.add(dialog)
        return self._bridge(ch, leg, dialog, address, variables)

    def _new_leg(
        self, endpoint: str, address: str, profile: CallerProfile, variables: dict[str, str]
    ) -> SipChannel:
        leg = SipChannel(
            self.host,
            endpoint,
            "outbound",
            profile,
            network_addr=address.rpartition(":")[0],
            uuid=variables.get("origination_uuid"),
        )
        for key, value in variables.items():
            leg.set_var(key, value)
        leg.variables["call_uuid"] = leg.uuid
        leg.hit_dialplan = False
        self.register(leg)
        return leg

    def originate(
        self,
        variables: dict[str, str],
        endpoint: str,
        bpart: str,
        cid: tuple[str, str] | None,
    ) -> Channel | str | None:
        """`originate sofia/<profile>/<user>@<host:port> ...` (None: not a URL of ours):
        the leg runs `bpart` once the far node has answered."""
        target = parse_sofia_url(endpoint)
        if target is None or target[0] not in self.profiles:
            return None
        _, user, address = target
        profile = CallerProfile(
            caller_id_name=variables.get("origination_caller_id_name")
            or (cid[0] if cid else "")
            or "FreeSWITCH",
            caller_id_number=variables.get("origination_caller_id_number")
            or (cid[1] if cid else "")
            or "0000000000",
            callee_id_name="Outbound Call",
            callee_id_number=user,
            destination_number=user,
            context="default",
            source="mod_sofia",
        )
        leg = self._new_leg(endpoint, address, profile, variables)
        leg.offered_codec = self.profiles[target[0]].outbound_codecs[0]
        leg.state = "CS_EXECUTE"
        dialog = Dialog(self, leg, leg)
        leg.dialog = dialog
        self.dialogs.add(dialog)
        clock = self.host.clock
        if not self._send_invite(dialog, address, variables):
            leg.hangup("NORMAL_TEMPORARY_FAILURE")
            return "NORMAL_TEMPORARY_FAILURE"
        wait_s = originate_wait_s(
            variables.get("originate_timeout"), clock.time(), self.originate_timeout_s
        )
        deadline = clock.monotonic() + wait_s
        while not (dialog.answered or dialog.failure is not None or not leg.up):
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                break
            leg.wake.clear()
            clock.wait(leg.wake, remaining)
        if dialog.failure is not None or not dialog.answered:
            cause = dialog.failure[0] if dialog.failure is not None else "NO_ANSWER"
            leg.hangup(cause)
            return cause
        leg.answer()
        self.dialplan.run_bpart(leg, bpart)
        return leg

    def _send_invite(self, dialog: Dialog, address: str, variables: dict[str, str]) -> bool:
        """Send the INVITE; False when nothing listens there (port closed: sofia answers
        itself 503 after the ICMP error). Nobody answering at all ends at Timer B."""
        clock = self.host.clock
        found = self.fabric.lookup(address)
        if found is None:
            if self.fabric.swallows(address):
                clock.call_later(TIMER_B_S, dialog.no_response)
                return True
            clock.sleep(PORT_CLOSED_S)
            return False
        far_node, far_profile = found
        # The X- headers of the INVITE: the leg's sip_h_X-... variables, names as given.
        headers = {k[len("sip_h_") :]: v for k, v in variables.items() if k.startswith("sip_h_")}
        dialog._to(far_node, far_node.invite, dialog, far_profile, headers)
        return True

    def _bridge(
        self,
        ch: Channel,
        leg: SipChannel,
        dialog: Dialog,
        address: str,
        variables: dict[str, str],
    ) -> str | None:
        clock = self.host.clock
        if not self._send_invite(dialog, address, variables):
            return self._failed(ch, leg, "NORMAL_TEMPORARY_FAILURE", 503)
        timeout = variables.get("originate_timeout") or ch.get_var("originate_timeout")
        wait_s = originate_wait_s(timeout, clock.time(), self.originate_timeout_s)
        outcome = ch.media_wait(
            wait_s, until=lambda: dialog.answered or dialog.failure is not None or not leg.up
        )
        if outcome == "hangup" or not ch.up:
            leg.hangup("ORIGINATOR_CANCEL")
            return None
        if dialog.failure is not None:
            cause, status = dialog.failure
            return self._failed(ch, leg, cause, status)
        if not dialog.answered:
            return self._failed(ch, leg, "NO_ANSWER" if leg.up else leg.hangup_cause or "", None)
        return self._bridged(ch, leg, dialog)

    def _bridged(self, ch: Channel, leg: SipChannel, dialog: Dialog) -> str | None:
        leg.answer()
        user = leg.profile.destination_number
        ch.profile.callee_id_name = ch.profile.callee_id_number = user
        for key, value in (
            ("originated_legs", f"{leg.uuid};Outbound Call;{user}"),
            ("originate_disposition", "SUCCESS"),
            ("DIALSTATUS", "SUCCESS"),
            ("originate_causes", f"{leg.uuid};NONE"),
            ("signal_bond", leg.uuid),
        ):
            ch.variables.pop(key, None)  # re-set: a variable keeps its first position
            ch.set_var(key, value)
        ch.other_leg = leg.originatee_headers

        def bridge_ids() -> Headers:
            return [("Bridge-A-Unique-ID", ch.uuid), ("Bridge-B-Unique-ID", leg.uuid)]

        ch.fire(
            "CHANNEL_BRIDGE",
            ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
            prefix=bridge_ids,
        )

        # switch_ivr_bridge.c audio_bridge_thread, run for each leg of the bridge:
        #   /* if 1 channel has DTMF pass it to the other */
        #   while (switch_channel_has_dtmf(chan_a)) {
        #       if (switch_channel_dequeue_dtmf(chan_a, &dtmf) == SWITCH_STATUS_SUCCESS) {
        #           ... switch_core_session_send_dtmf(session_b, &dtmf);
        # The DTMF event fires on the leg that *dequeues* (switch_channel_dequeue_dtmf);
        # sending fires none. So B->A: loopback-b's event (UNKNOWN, 2000), then RFC 2833
        # to A. A->B: B's SIP leg's event (RTP, 2080), then send_dtmf to the caller's
        # channel: a loopback leg queues it on its partner (mod_loopback channel_send_dtmf),
        # where whatever reads that leg fires the event; B's controller (myevents on the
        # caller's channel) sees no DTMF at all in that direction.
        def forward(digit: str) -> bool:
            leg.send_dtmf(Dtmf(digit))
            return False

        leg.bridged_by = ch
        try:
            while leg.up:
                outcome = ch.media_wait(None, forward, until=lambda: not leg.up or bool(leg.dtmf))
                if outcome != "until":
                    break
                while leg.dtmf:
                    dtmf = leg.take_dtmf()
                    if dtmf is not None:
                        ch.send_dtmf(dtmf)
        finally:
            leg.bridged_by = None
        if not ch.up:
            leg.hangup("NORMAL_CLEARING")
            ch.set_var("bridge_hangup_cause", "NORMAL_CLEARING")
        else:
            cause = leg.hangup_cause or "NORMAL_CLEARING"
            for key in ("last_bridge_to", "bridge_channel", "bridge_uuid"):
                ch.variables.pop(key, None)
            ch.set_var("last_bridge_to", leg.uuid)
            ch.set_var("bridge_channel", leg.name)
            ch.set_var("bridge_uuid", leg.uuid)
            ch.set_var("last_sent_callee_id_name", user)
            ch.set_var("last_sent_callee_id_number", user)
            status = dialog.end_status
            if status is not None:
                ch.set_var("sip_reason", f'Q.850;cause=16;text="{cause}"')
                ch.set_var("sip_hangup_phrase", SIP_PHRASES.get(status, ""))
            ch.set_var("last_bridge_hangup_cause", cause)
            if status is not None:
                ch.set_var("last_bridge_proto_specific_hangup_cause", f"sip:{status}")
            else:
                # A bridge that ended without a SIP message (media timeout) has none.
                ch.variables.pop("last_bridge_proto_specific_hangup_cause", None)
                ch.variables.pop("sip_hangup_phrase", None)
            ch.set_var("bridge_hangup_cause", cause)
        ch.fire(
            "CHANNEL_UNBRIDGE",
            ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1786),
            prefix=bridge_ids,
        )
        # Without hangup_after_bridge the caller stays up for further apps (captured,
        # FINDINGS 16). With it, switch_ivr_multi_threaded_bridge hangs the caller up
        # after CHANNEL_UNBRIDGE with the far leg's cause:
        #   (switch_channel_test_flag(peer_channel, CF_ANSWERED) && state < CS_HANGUP &&
        #    switch_true(switch_channel_get_variable(caller_channel,
        #                SWITCH_HANGUP_AFTER_BRIDGE_VARIABLE))) ->
        #   switch_channel_hangup(caller_channel, switch_channel_get_cause(peer_channel));
        # fsconf's controller never sets it (it re-bridges or plays "one moment").
        if ch.up and switch_true(ch.get_var("hangup_after_bridge") or ""):
            ch.hangup(leg.hangup_cause or "NORMAL_CLEARING")
        return None

    def _failed(
        self, ch: Channel, leg: SipChannel | None, cause: str, status: int | None
    ) -> str | None:
        """switch_ivr_originate failed: the variables, then the caller hangs up unless
        continue_on_fail covers the cause (captured: CHANNEL_HANGUP before the
        bridge's EXECUTE_COMPLETE)."""
        if leg is not None:
            ch.set_var("originate_causes", f"{leg.uuid};{cause}")
            ch.set_var("originate_signal_bond", leg.uuid)
        ch.set_var("originate_disposition", cause)
        ch.set_var("DIALSTATUS", dial_status(cause))
        ch.set_var("originate_failed_cause", cause)
        ch.set_var("last_bridge_hangup_cause", cause)
        if status is not None:
            ch.set_var("last_bridge_proto_specific_hangup_cause", f"sip:{status}")
            ch.set_var("sip_hangup_phrase", SIP_PHRASES.get(status, ""))
        if leg is not None and leg.up:
            leg.hangup(cause)
        if not continues_on_fail(ch.get_var("continue_on_fail"), cause):
            ch.hangup(cause)
        return None

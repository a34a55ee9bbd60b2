"""Number pronunciation into digits/*.wav files, after mod_say_en and mod_say_nl."""

from __future__ import annotations


def say_files(module: str, say_type: str, method: str, text: str) -> list[str]:
    digits = "".join(c for c in text if c.isdigit())
    if not digits:
        return []
    kind, how = say_type.upper(), method.lower()
    if kind not in ("NUMBER", "ITEMS", "PERSONS", "MESSAGES") or how == "iterated":
        return [f"digits/{d}.wav" for d in digits]
    number = int(digits)
    if module == "nl":
        return _nl(number)
    return _en(number)


def _en(n: int) -> list[str]:
    if n == 0:
        return ["digits/0.wav"]
    out: list[str] = []
    for value, word in ((1_000_000, "million"), (1000, "thousand")):
        if n >= value:
            out += _en_hundreds(n // value) + [f"digits/{word}.wav"]
            n %= value
    return out + (_en_hundreds(n) if n else [])


def _en_hundreds(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        out += [f"digits/{n // 100}.wav", "digits/hundred.wav"]
        n %= 100
    if n >= 20:
        out.append(f"digits/{n // 10 * 10}.wav")
        n %= 10
    if n:
        out.append(f"digits/{n}.wav")
    return out


def _nl(n: int) -> list[str]:
    """Dutch says units before tens: 21 = "een-en-twintig"."""
    if n == 0:
        return ["digits/0.wav"]
    out: list[str] = []
    for value, word in ((1_000_000, "miljoen"), (1000, "duizend")):
        if n >= value:
            count = n // value
            if count > 1 or value == 1_000_000:
                out += _nl_hundreds(count)
            out.append(f"digits/{word}.wav")
            n %= value
    return out + (_nl_hundreds(n) if n else [])


def _nl_hundreds(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        if n // 100 > 1:
            out.append(f"digits/{n // 100}.wav")
        out.append("digits/hundred.wav")
        n %= 100
    if n > 20 and n % 10:
        out += [f"digits/{n % 10}.wav", "currency/and.wav", f"digits/{n // 10 * 10}.wav"]
    elif n:
        out.append(f"digits/{n}.wav")
    return out

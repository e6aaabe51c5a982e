"""`envoi plugins new NAME`: a channel plugin's package, from the template in
plugins/template/, that works as made: signed webhooks in, messages out, an
emulator of the network, and end-to-end tests on a real `envoi serve`."""

import pathlib
import re

TEMPLATE = pathlib.Path(__file__).parent / "template"
# A channel's name is its users' identity namespace, and part of a Python package's name.
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def create(name: str, into: pathlib.Path) -> pathlib.Path:
    """Write the package of channel `name` into `into`/envoi-channel-NAME; its path.
    ValueError for a name that cannot be a channel's, or a directory already there."""
    if not NAME.fullmatch(name):
        raise ValueError(
            f"{name!r}: a channel's name is 1 to 32 of a-z 0-9 _, starting with a letter"
        )
    distribution = f"envoi-channel-{name.replace('_', '-')}"
    package = f"envoi_channel_{name}"
    values = {
        "{{name}}": name,
        "{{NAME}}": name.upper(),
        "{{Name}}": "".join(part.capitalize() for part in name.split("_")),
        "{{package}}": package,
        "{{distribution}}": distribution,
    }
    root = into / distribution
    if root.exists():
        raise ValueError(f"{root} already exists")
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")  # drop .tmpl
        target = root / pathlib.Path(*[package if p == "package" else p for p in relative.parts])
        text = source.read_text()
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root

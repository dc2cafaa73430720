"""The mail templates (`ja/`, `en/`, one `<purpose>.txt.j2` per letter), installed as `gateway.templates`.

pyproject.toml maps this folder into the wheel as package data; gateway.settings_sections finds
it with importlib.resources, and `[gateway] templates_dir` replaces it with a folder of your own.
"""

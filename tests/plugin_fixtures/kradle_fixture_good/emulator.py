def create_app(**kwargs):
    return {"emulator": "fixture-good", **kwargs}

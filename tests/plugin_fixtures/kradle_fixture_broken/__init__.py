raise RuntimeError("fixture plugin exploded on import")

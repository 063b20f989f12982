from kradle_providers.plugins.hookspecs import hookimpl


@hookimpl
def kradle_register_providers(register):
    raise ValueError("hook failed while registering")

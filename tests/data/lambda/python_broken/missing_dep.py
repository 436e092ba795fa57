import surely_not_an_installed_module  # noqa: F401


def handler(event, context):
    return "never reached"

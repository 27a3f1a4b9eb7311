"""Wire schemas: every shape that crosses the server's edge, as msgspec Structs, one module per
resource (transcription, jobs, realtime, speakers, models, info, errors), with the functions that
build them from domain objects. The HTTP layer and the adapters that render (formatters, the webhook
notifier) both import them; neither imports the other."""

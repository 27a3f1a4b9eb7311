"""The web page served at `/` (WEBUI__ENABLED): plain HTML, CSS and ES modules, no build step."""

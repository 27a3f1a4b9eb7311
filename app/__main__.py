"""`python -m app`: serve the API (app/entrypoints/server.py)."""

from app.entrypoints.server import main

if __name__ == "__main__":
    main()

"""The endpoint handlers, one concern a module; ``routes`` maps paths and methods to them."""

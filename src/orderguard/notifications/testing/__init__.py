"""Local stand-ins for the providers notifications are delivered to (tests and `make bench`)."""

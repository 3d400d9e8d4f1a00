"""Admin registrations for the lobby models (to come)."""

"""``make run``'s supervisor: every service of the system as child processes of one command."""

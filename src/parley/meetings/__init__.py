"""meeting-service: meetings, joining (guests, passwords, lobby), participants, recording
metadata, calendar invitations and statistics."""

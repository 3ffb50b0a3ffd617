"""kescheck doctor: live probes of a running KES deployment."""

"""Report intake in worker processes: validation and serialisation of `POST /reports` bodies off
the serving process's core (config `intake_workers`; 0 keeps everything in-process)."""

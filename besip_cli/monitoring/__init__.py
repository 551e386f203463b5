"""Speech-quality monitoring: RTP streams tied to SIP calls, per direction, rated with the
ITU-T G.107 E-model; from capture files (`monitor analyze FILE`) and live capture (the
BESIP daemon's voice-quality component), stored in SQLite."""

# eie_stream_recorder: simulation-only stream recorder (its own unit bench)
eie_stream_recorder.sv

"""Performance benches (cocotb test modules launched by scripts/, not collected by pytest)."""

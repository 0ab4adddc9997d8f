package main

import "fmt"

// byteSize writes n bytes with binary units: 512 B, 1.5 KiB, 3.2 MiB.
func byteSize(n float64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n /= unit; n >= unit && i < len(units)-1; i++ {
		n /= unit
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// byteRate is byteSize per second.
func byteRate(perSec float64) string { return byteSize(perSec) + "/s" }

// msgRate writes a message rate: 12 msg/s, 0.5 msg/s.
func msgRate(perSec float64) string {
	if perSec > 0 && perSec < 10 {
		return fmt.Sprintf("%.1f msg/s", perSec)
	}
	return fmt.Sprintf("%.0f msg/s", perSec)
}

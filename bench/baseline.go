package main

const baselineName = "pxroute (baseline)"

// withBaseline adds to sc, when bin is set, a run of another pxroute
// binary (an older build, say) as the contender "pxroute (baseline)":
// the same scenario, interleaved with the others in one run, so that a
// change is measured before and after side by side on a loaded machine.
func withBaseline(sc scenario, bin string) scenario {
	if bin == "" {
		return sc
	}
	for _, c := range sc.contenders {
		if c.name != "pxroute" {
			continue
		}
		run := c.run
		sc.contenders = append(append([]contender(nil), sc.contenders...), contender{
			name: baselineName,
			run: func(cfg config) (float64, error) {
				cfg.bin, cfg.baseline = bin, baselineName
				return run(cfg)
			},
		})
		break
	}
	return sc
}

package topology

import (
	"errors"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/contract"
)

// Keys a topology may write on a route and on an endpoint (high_water,
// high_water_msgs, overflow) are validated by package contract on both
// sides; this file holds the route side's readers and how either side's
// refusal is worded.

// refusal words a validator's error: a name that is not one of a key's
// (contract.UnknownError) gets the nearest one suggested.
func refusal(err error) string {
	var u *contract.UnknownError
	if errors.As(err, &u) {
		return err.Error() + didYouMean(u.Value, u.Want)
	}
	return err.Error()
}

// countValue reads a whole number of things (messages) for a validator
// to bound: as wide as any bound it may have.
func countValue(el *errorList, v *yaml.Node) (int64, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		el.atValue(v, "want a whole number, not %s", kindName(v))
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if err != nil {
		el.atValue(v, "bad number %q", v.Value)
		return 0, false
	}
	return n, true
}

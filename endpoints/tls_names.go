package endpoints

import (
	"crypto/x509"
	"fmt"
	"path"
	"strings"
)

// tlsAllowNames are allow_names: patterns ("sensor-*.example.org") a
// client certificate's names must match: its DNS SANs, or its subject CN
// when it has none. A pattern is matched label by label (path.Match per
// dot-separated label), so * never spans a dot: sensor-*.example.org does
// not admit sensor-1.evil.example.org.
type tlsAllowNames []string

func parseAllowNames(patterns []string) (tlsAllowNames, error) {
	for _, pat := range patterns {
		if pat == "" {
			return nil, fmt.Errorf("allow_names: an empty pattern")
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("allow_names: pattern %q: %v", pat, err)
		}
	}
	return tlsAllowNames(patterns), nil
}

// certNames are the names allow_names are matched against.
func certNames(c *x509.Certificate) []string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames
	}
	if c.Subject.CommonName != "" {
		return []string{c.Subject.CommonName}
	}
	return nil
}

// allows says whether a name of c matches a pattern (case-insensitive,
// as DNS names are).
func (a tlsAllowNames) allows(c *x509.Certificate) bool {
	for _, name := range certNames(c) {
		name = strings.ToLower(name)
		for _, pat := range a {
			if matchLabels(strings.ToLower(pat), name) {
				return true
			}
		}
	}
	return false
}

// errNameNotAllowed is a verified client certificate whose names match no
// allow_names pattern.
type errNameNotAllowed struct{ names []string }

func (e errNameNotAllowed) Error() string {
	return fmt.Sprintf("client certificate names %v match no allow_names pattern", e.names)
}

// matchLabels matches name against pat one dot-separated label at a time.
func matchLabels(pat, name string) bool {
	pl, nl := strings.Split(pat, "."), strings.Split(name, ".")
	if len(pl) != len(nl) {
		return false
	}
	for i := range pl {
		if ok, _ := path.Match(pl[i], nl[i]); !ok {
			return false
		}
	}
	return true
}

package router

import "github.com/pxroute/pxroute/endpoints"

// certificateExpiries sets, for each endpoint that presents a TLS
// certificate, when it expires, from the running endpoint (a reload's
// renewed certificate included).
func (r *Router) certificateExpiries(s *Stats) {
	at := map[string]int64{}
	for _, u := range r.units {
		for i, n := range u.comp.Prog.Endpoints {
			if e, ok := u.comp.Endpoints[i].(endpoints.Expiring); ok {
				if t := e.CertificateExpiry(); !t.IsZero() {
					at[n] = t.Unix()
				}
			}
		}
	}
	for i := range s.Endpoints {
		s.Endpoints[i].CertificateExpiresAt = at[s.Endpoints[i].Name]
	}
}

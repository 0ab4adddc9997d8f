module github.com/pxroute/pxroute

go 1.26.8

require (
	github.com/hashicorp/go-multierror v1.1.1
	golang.org/x/sys v0.49.0
	gopkg.in/yaml.v3 v3.0.1
)

require github.com/hashicorp/errwrap v1.0.0 // indirect

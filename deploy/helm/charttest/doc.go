// Package charttest renders the Granary Helm chart (deploy/helm/granary)
// with Helm's own Go packages and checks the Kubernetes objects it makes.
// It is a module of its own so that neither the granary binary nor the
// main module depends on Helm or Kubernetes; `make test` runs it.
package charttest

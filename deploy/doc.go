// Package deploy holds goodwill's deployment files — the container image's
// Dockerfile, a compose file running the service against a MongoDB replica set
// with an OpenTelemetry collector and a mail catcher, and Kubernetes manifests
// in k8s/ — and the offline tests that check them (deploy_test.go): every
// manifest decodes strictly into its Kubernetes API type, probes, ports,
// selectors and environment variables agree with each other and with what
// goodwill reads, and the compose file wires the replica set, its init step and
// the collector. The variables goodwill reads come from service/settings.json, and
// the Dockerfile's build is checked by building and running the command as it does.
//
// It is a module of its own (make deploy-check runs it), so that the Kubernetes API
// types the manifests are decoded into stay out of goodwill's dependencies.
package deploy

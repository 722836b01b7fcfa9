// Package deploy holds no code: its tests check the deployment files at
// the top of the repository (docker-compose.yml, Dockerfile, LICENSE,
// .ci/run) for what fleets rely on, and run the image end to end with the
// shipped compose file when scripts/image-e2e.sh has built it.
package deploy

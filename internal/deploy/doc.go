// Package deploy holds no code: its tests check the deployment files at
// the top of the repository (docker-compose.yml, Dockerfile, LICENSE,
// .ci/run) for what fleets rely on.
package deploy

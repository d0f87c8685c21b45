// Package deploy is the service API behind up, down, restart, logs, status and
// history: it sequences check → plan → resolve → runtime → monitor → state for
// a profile. Every deploy first writes the fully resolved compose file
// (internal/resolve) to the state folder and deploys that file, so it can be
// reproduced and rolled back.
package deploy

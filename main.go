// Command messaging is a group chat reached with nothing but ssh.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"messaging/app"
)

// SIGINT and SIGTERM stop the server; SIGHUP stops it too, telling users it
// is restarting (whoever sends it starts the server again).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(ctx)
	stopHangUp := func() {}
	// Not when started with SIGHUP ignored (nohup): the hangup of the
	// terminal that started it must not stop it.
	if !signal.Ignored(syscall.SIGHUP) {
		var hangUp context.Context
		hangUp, stopHangUp = signal.NotifyContext(context.Background(), syscall.SIGHUP)
		context.AfterFunc(hangUp, func() { cancel(app.ErrRestart) })
	}
	code := app.Run(ctx, os.Getenv, os.Stderr)
	cancel(nil)
	stopHangUp()
	stop()
	os.Exit(code)
}

// Command messaging is a group chat reached with nothing but ssh.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"messaging/app"
)

// With no arguments it runs the server: SIGINT and SIGTERM stop it; SIGHUP
// stops it too, telling users it is restarting (whoever sends it starts the
// server again). With arguments it is the admin command line (app.Command).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 {
		code := app.Command(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
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

// Command kwok runs KWOK's controller with its standard lifecycle stages built in.
//
// KWOK only simulates what its Stage definitions describe: without them a fake node never turns
// Ready and a Pod scheduled onto it never runs. kwokctl writes the standard stages (node-fast,
// node heartbeat with leases, pod-fast) into its config; this program does the same from the
// copies embedded in the kwok module, then runs the ordinary kwok command with the other flags
// it was given (--config for the KwokConfiguration, --kubeconfig, ...).
package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	stages := strings.Join([]string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}, "\n---\n")
	path := filepath.Join(os.TempDir(), "kwok-stages.yaml")
	if err := os.WriteFile(path, []byte(stages), 0o644); err != nil {
		os.Stderr.WriteString("kwok: cannot write its stages: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Args = append(os.Args, "--config="+path)

	flags := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flags.ParseErrorsAllowlist.UnknownFlags = true
	flags.Usage = func() {}
	ctx, logger := log.InitFlags(signals.SetupSignalContext(), flags)
	ctx, err := config.InitFlags(ctx, flags)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		os.Exit(1)
	}
	command := cmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flags)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		os.Exit(1)
	}
}

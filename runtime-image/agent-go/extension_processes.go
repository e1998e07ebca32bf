package main

// External extensions: every executable file in <opt>/extensions, started in name order before
// the runtime, with the runtime's environment, each in its own process group; their output
// goes to the function log (and to Telemetry API subscribers as `extension` events).

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

type extensionProcess struct {
	name string
	proc *RuntimeProcess
}

// readDirInfo maps each entry of dir to its mode, symlinks followed.
func readDirInfo(dir string) (map[string]fs.FileMode, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]fs.FileMode{}
	for _, e := range entries {
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
			out[e.Name()] = info.Mode()
		}
	}
	return out, nil
}

func startExtensions(optRoot string, names []string, env map[string]string, cwd string, out io.Writer, memorySizeMb int) []*extensionProcess {
	procs := make([]*extensionProcess, 0, len(names))
	for _, name := range names {
		launch := &Launch{Command: filepath.Join(optRoot, "extensions", name), Env: env, Cwd: cwd}
		procs = append(procs, &extensionProcess{name, startProcess(launch, newProcMemoryWatch(int64(memorySizeMb)*1024*1024), out, false)})
	}
	return procs
}

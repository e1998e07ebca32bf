module lamina/agent

go 1.22

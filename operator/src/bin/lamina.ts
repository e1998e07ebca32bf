#!/usr/bin/env node
// `lamina`: the command-line companion to kubectl. See commands.ts for the commands.
import { main } from '../cli/index.js';

process.exitCode = await main(process.argv.slice(2));

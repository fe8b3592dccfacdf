#!/usr/bin/env node
// Package bin: runs the TypeScript CLI through tsx's loader, so `iotctl` works right after npm ci.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

/**
 * Setup of every console component test: Testing Library's find* and waitFor wait up to 10 s
 * instead of 1 s, since the real local platform shares two cores with the other test files and
 * an answer that is merely late must not fail a test.
 */
import { configure } from '@testing-library/react';

configure({ asyncUtilTimeout: 10_000 });

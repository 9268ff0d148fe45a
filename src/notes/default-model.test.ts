import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LLM_MODEL, MODEL_HOSTS } from '../models/catalog.js';
import { defaultLlmPath } from './default-model.js';

describe('the default notes model in the catalog', () => {
  it('is pinned: an https URL at a fixed revision on an allowed host, a size and an enforced SHA-256', () => {
    const url = new URL(DEFAULT_LLM_MODEL.url);
    expect(url.protocol).toBe('https:');
    expect(MODEL_HOSTS.llm).toContain(url.hostname);
    expect(url.pathname).toMatch(/\/resolve\/[0-9a-f]{40}\//);
    expect(DEFAULT_LLM_MODEL.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(DEFAULT_LLM_MODEL.sizeBytes).toBe(1_117_320_736);
    expect(DEFAULT_LLM_MODEL.file).toMatch(/\.gguf$/);
    expect(defaultLlmPath('/m')).toBe(join('/m', DEFAULT_LLM_MODEL.file));
  });
});

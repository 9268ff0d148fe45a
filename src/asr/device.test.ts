import { describe, expect, it } from 'vitest';
import { resolveDevice, type DeviceProbe } from './device.js';

const probe = (cuda: number, vulkan: boolean | null): DeviceProbe => ({
  cudaDevices: async () => cuda,
  vulkanGpu: async () => vulkan,
});

describe('resolveDevice', () => {
  const none = { cuda: false, vulkan: false };
  const cuda = { cuda: true, vulkan: false };
  const vulkan = { cuda: false, vulkan: true };
  const both = { cuda: true, vulkan: true };

  it('auto takes a GPU the build supports and the machine has, else the CPU', async () => {
    expect((await resolveDevice('auto', none, probe(1, true))).device).toBe('cpu');
    expect((await resolveDevice('auto', cuda, probe(1, null))).device).toBe('cuda');
    expect((await resolveDevice('auto', cuda, probe(0, null))).device).toBe('cpu');
    expect((await resolveDevice('auto', vulkan, probe(0, true))).device).toBe('vulkan');
    expect((await resolveDevice('auto', vulkan, probe(0, false))).device).toBe('cpu');
    expect((await resolveDevice('auto', both, probe(2, true))).device).toBe('cuda');
  });

  it('cpu is always the CPU', async () => {
    expect((await resolveDevice('cpu', both, probe(2, true))).device).toBe('cpu');
  });

  it('an explicit GPU that cannot be honoured falls back to the CPU and says why', async () => {
    const d = await resolveDevice('cuda', none, probe(1, null));
    expect(d.device).toBe('cpu');
    expect(d.reason).toMatch(/no CUDA backend/);
    expect((await resolveDevice('vulkan', cuda, probe(1, true))).reason).toMatch(/no Vulkan backend/);
  });

  it('numbers a Vulkan GPU after the CUDA ones', async () => {
    expect(await resolveDevice('vulkan', both, probe(2, true))).toMatchObject({ device: 'vulkan', gpuIndex: 2 });
  });
});

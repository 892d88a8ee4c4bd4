import type { NextConfig } from "next";

const config: NextConfig = {
  // The app is started by server/start.mjs on loopback; no telemetry, no image service.
  images: { unoptimized: true },
};

export default config;

// Generated from origin_handler/policy.json by site/scripts/prepack.mjs: do not edit.
declare const policy: {
  readonly widths: readonly [16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840];
  readonly heights: readonly [16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840];
  readonly qualities: readonly [50, 75, 90];
  readonly quality: {
    readonly min: 1;
    readonly max: 100;
    readonly default: 75;
  };
  readonly formats: readonly ["avif", "webp", "jpeg", "png"];
  readonly format_aliases: {
    readonly jpg: "jpeg";
  };
  readonly negotiated: readonly ["avif", "webp"];
  readonly fits: readonly ["cover", "contain", "inside"];
  readonly default_fit: "cover";
  readonly max_key_bytes: 960;
  readonly signing: {
    readonly mode: "off";
  };
};
export default policy;

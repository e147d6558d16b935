// Generated from origin_handler/policy.json by site/scripts/prepack.mjs: do not edit.
export default {
  "widths": [16,32,48,64,96,128,256,384,640,750,828,1080,1200,1920,2048,3840],
  "heights": [16,32,48,64,96,128,256,384,640,750,828,1080,1200,1920,2048,3840],
  "qualities": [50,75,90],
  "quality": {"min":1,"max":100,"default":75},
  "formats": ["avif","webp","jpeg","png"],
  "format_aliases": {"jpg":"jpeg"},
  "negotiated": ["avif","webp"],
  "fits": ["cover","contain","inside"],
  "default_fit": "cover",
  "max_key_bytes": 960,
  "signing": {"mode":"off"},
};

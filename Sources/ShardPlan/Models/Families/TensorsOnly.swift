extension ModelFamily {
  /// Families shardplan reads from safetensors headers or GGUF files only (their
  /// config.json is read as an unknown Llama-style decoder, with a note), known
  /// here for the module names accelerate's `device_map` needs.
  static let tensorsOnlyFamilies: [ModelFamily] = [
    ModelFamily(name: "BLOOM", modelTypes: ["bloom"], reading: .tensorsOnly, baseModelPrefix: "transformer"),
    ModelFamily(name: "GPT-J", modelTypes: ["gptj"], reading: .tensorsOnly, baseModelPrefix: "transformer"),
  ]
}

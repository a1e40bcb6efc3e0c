import ArgumentParser
import ShardPlan

extension Workload.Training.Method: ExpressibleByArgument {}
extension Workload.Training.Optimizer: ExpressibleByArgument {}
extension Workload.Training.Offload: ExpressibleByArgument {}
extension Trainer: ExpressibleByArgument {}

/// The training options `estimate` and `plan` share.
struct TrainingOptions: ParsableArguments {
  @Option(help: "Train: full, lora or qlora.")
  var train: Workload.Training.Method?

  @Option(help: "Optimizer for training: adamw, adamw-8bit or sgd.")
  var optimizer: Workload.Training.Optimizer = .adamw

  @Option(help: "DeepSpeed ZeRO stage, 0–3 (estimate: default 0; plan: searched when not given).")
  var zero: Int?

  @Option(help: "ZeRO offload of optimizer states (and weights at stage 3): none, cpu or nvme.")
  var offload: Workload.Training.Offload?

  @Flag(help: "Training with gradient checkpointing.")
  var gradientCheckpointing = false

  @Option(help: "LoRA rank.")
  var loraRank: Int = 16

  @Option(help: "LoRA target modules, comma-separated (empty: every linear layer).")
  var loraTargets: String = "q_proj,k_proj,v_proj,o_proj"

  func validate() throws {
    if let zero, !(0...3).contains(zero) { throw ValidationError("--zero must be 0, 1, 2 or 3") }
    guard loraRank >= 1, loraRank <= 65536 else { throw ValidationError("--lora-rank must be from 1 to 65536") }
    if train == nil, let unused = Self.givenTrainingOnly(Self.trainingOnly) {
      throw ValidationError("\(unused) sets up training and does nothing without --train full, lora or qlora")
    }
  }

  /// Options that mean something only for a training run.
  static let trainingOnly = [
    "--optimizer", "--zero", "--offload", "--gradient-checkpointing", "--lora-rank", "--lora-targets",
  ]

  /// The first of `options` given on the command line (`--flag value` or `--flag=value`), if any.
  static func givenTrainingOnly(_ options: [String]) -> String? {
    CommandLine.arguments.dropFirst().first { argument in
      options.contains { argument == $0 || argument.hasPrefix($0 + "=") }
    }.map { $0.split(separator: "=").first.map(String.init) ?? $0 }
  }

  /// The setup asked for, with `defaultZero` when `--zero` is not given.
  func setup(defaultZero: Int = 0) -> Workload.Training? {
    guard let train else { return nil }
    return Workload.Training(
      method: train,
      optimizer: optimizer,
      zeroStage: zero ?? defaultZero,
      offload: offload ?? .none,
      gradientCheckpointing: gradientCheckpointing,
      loraRank: loraRank,
      loraTargets: loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    )
  }
}

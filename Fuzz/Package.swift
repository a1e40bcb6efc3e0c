// swift-tools-version:6.0
// libFuzzer targets for shardplan's parsers. Build and run with Fuzz/run.sh;
// kept in its own package so the main build never needs libFuzzer.
import PackageDescription

let package = Package(
  name: "shardplan-fuzz",
  // The main package through Root/shardplan (a link to ..), so that its identity is
  // `shardplan` whatever the checkout folder is called.
  dependencies: [.package(path: "Root/shardplan")],
  targets: [
    // The call into libFuzzer's driver that every target's entry point makes.
    .target(
      name: "FuzzDriver",
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
    .executableTarget(
      name: "FuzzModelHeaders",
      dependencies: ["FuzzDriver", .product(name: "ShardPlan", package: "shardplan")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
    .executableTarget(
      name: "FuzzModelConfigs",
      dependencies: ["FuzzDriver", .product(name: "ShardPlan", package: "shardplan")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
    .executableTarget(
      name: "FuzzHubResponses",
      dependencies: ["FuzzDriver", .product(name: "ShardPlanHub", package: "shardplan")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
    .executableTarget(
      name: "FuzzTopologyReaders",
      dependencies: ["FuzzDriver", .product(name: "ShardPlan", package: "shardplan")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
  ]
)

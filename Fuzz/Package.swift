// swift-tools-version:6.0
// libFuzzer targets for shardplan's parsers. Build and run with Fuzz/run.sh;
// kept in its own package so the main build never needs libFuzzer.
import PackageDescription

let package = Package(
  name: "shardplan-fuzz",
  dependencies: [.package(path: "..")],
  targets: [
    .executableTarget(
      name: "FuzzModelHeaders",
      dependencies: [.product(name: "ShardPlan", package: "main")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
    .executableTarget(
      name: "FuzzTopologyReaders",
      dependencies: [.product(name: "ShardPlan", package: "main")],
      swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
      linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
    ),
  ]
)

fn main() {
    std::process::exit(bpstudio_op::run());
}

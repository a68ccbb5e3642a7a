// The overload set for std::visit: a visitor that lacks a case for some alternative does not
// compile, which is how every fold over DomainEvent and every dispatch over Command stays total.
#pragma once

namespace tasklog {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace tasklog

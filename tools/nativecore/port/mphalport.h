static inline mp_uint_t mp_hal_ticks_ms(void) { return 0; }
static inline void mp_hal_set_interrupt_char(char c) { (void)c; }
#define mp_hal_pin_obj_t void *  // no pins: keeps py/mphal.h from the virtual pin API

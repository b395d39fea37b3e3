// Obtener nuevos contactos de tu CRM
const crmContacts = await myCRM.getNewContacts();

// Crearlos en FluenzR
for (const contact of crmContacts) {
  await fluenzr.contacts.create({
    email: contact.email,
    firstName: contact.first_name,
    lastName: contact.last_name,
    company: contact.company
  });
}
